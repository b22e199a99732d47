# Part of mobile_webrtc. License LGPL-3.
"""Pure-Python helpers (standard library only, no Odoo import).

They hold every rule that does not need the ORM so that they can be tested
without an Odoo server (see ``odoo/lib_tests``) and reused by the models.
"""
