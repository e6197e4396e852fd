"""The engineer app's Kivy user interface: screens, widgets, translation and fonts."""
