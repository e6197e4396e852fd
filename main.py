"""The phone build's entry point: buildozer packages this file with mobile/ and shared/
(buildozer.spec), and python-for-android / kivy-ios run it as ``__main__``.

The import is inside the guard so that importing this module (tests, tooling) neither needs
the UI nor starts it.
"""

if __name__ == "__main__":
    from mobile.ui.app import main

    main()
