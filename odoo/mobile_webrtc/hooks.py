# Part of mobile_webrtc. License LGPL-3.


def post_init_hook(env):
    """Generate the token secret on install when the database has none."""
    env["res.users"]._webrtc_token_secret()
