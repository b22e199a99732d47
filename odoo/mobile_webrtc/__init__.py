# Part of mobile_webrtc. License LGPL-3.
from . import models
from .hooks import post_init_hook
