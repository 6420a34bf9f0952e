"""
Signed draws: keys (L{randnum.signing.keys}), records and their chain
(L{randnum.signing.records}), the audit store (L{randnum.signing.store}) and
verification of a whole store (L{randnum.signing.verifying}).
"""
