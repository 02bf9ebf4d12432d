"""Hooks for the two systems CLOSRADS talks to. Slack goes through the official Slack provider instead."""
