"""Notifications: detecting events worth telling people about, and delivering them once.

`detect` finds the events due now (selectors), `send` records them and delivers them by email
and signed webhook (services), `webhook` manages an organisation's endpoint and signs requests,
`schedule` is the beat entry that runs the scan.
"""
