"""
C{python -m randnum}: the C{randnum} command (L{randnum.cli.main}).
"""

from randnum.cli.main import main

if __name__ == "__main__":
    main()
