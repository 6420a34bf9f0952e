"""
Where values come from: the number source (L{randnum.generation.source}) and
every value type drawn from it (L{randnum.generation.values}).  No I/O.
"""
