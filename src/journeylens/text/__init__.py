"""Text analytics over feedback comments: language, sentiment and topics.

This is an analysis layer: functions take the ``feedback`` table (or plain texts) and return
typed results. Models are plugins registered in :mod:`journeylens.text.sentiment`.
"""
