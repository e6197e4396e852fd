"""The Fixflow field engineer app (Kivy). Built out in the mobile issue."""
