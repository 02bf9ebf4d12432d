"""Hooks for the two systems CLOSRADS talks to. Slack uses the official Slack provider instead."""
