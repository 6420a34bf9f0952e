"""
The C{randnum} command: one module per subcommand, and L{main}.
"""

from randnum.cli.main import main

__all__ = ["main"]
