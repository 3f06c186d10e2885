"""Signals other apps listen to, so forensics never imports them.

``analysis_finished`` is sent once an analysis is committed as done or
failed (``sender=Analysis, analysis=<Analysis>``); webhooks hang off it.
"""
from django.dispatch import Signal

analysis_finished = Signal()
