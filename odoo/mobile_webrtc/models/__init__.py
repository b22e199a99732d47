# Part of mobile_webrtc. License LGPL-3.
from . import webrtc_gateway_event_key
from . import webrtc_session
from . import webrtc_ami_rule
from . import discuss_channel
from . import res_users
from . import res_config_settings
