# Part of mobile_webrtc. License LGPL-3.
{
    "name": "Mobile WebRTC Integration",
    "version": "18.0.1.1.0",
    "category": "Productivity/Discuss",
    "summary": "WebRTC <-> SIP gateway calls in Discuss: call records, gateway reporting, tokens",
    "description": """
Odoo side of webrtc-gateway (a WebRTC <-> SIP media gateway for Asterisk).

* webrtc.session: one record per call with its lifecycle, duration and quality,
  fed by the gateway through gateway_report (batched, ordered, idempotent).
* Short-lived HS256 tokens for the gateway's /ws signaling endpoint.
* Per-user SIP credentials readable only by the gateway and administrators.
* AMI event rules (model/method routing of Asterisk events).
* The mobile API on discuss.channel (start / end / signal a call).
""",
    "author": "webrtc-gateway",
    "license": "LGPL-3",
    "depends": ["mail", "bus"],
    "data": [
        "security/mobile_webrtc_groups.xml",
        "security/ir.model.access.csv",
        "security/mobile_webrtc_rules.xml",
        "views/webrtc_session_views.xml",
        "views/webrtc_ami_rule_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/mobile_webrtc_menus.xml",
    ],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "auto_install": False,
    "application": False,
}
