"""
RANDOM.ORG's JSON-RPC API (Release 4), served by randnum with
C{--json-rpc}: the envelope and its errors (L{randnum.jsonrpc.protocol}),
the methods' parameters and results (L{randnum.jsonrpc.methods}) and the
page that answers them (L{randnum.jsonrpc.resource}).
"""
