# Part of mobile_webrtc. License LGPL-3.
from . import test_gateway_report
from . import test_security
from . import test_token
from . import test_channel_api
from . import test_ami_rule
