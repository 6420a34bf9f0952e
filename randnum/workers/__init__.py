"""
C{--workers N}: the main process's pool (L{randnum.workers.pool}), each
worker process (L{randnum.workers.child}), and the messages between them
(L{randnum.workers.messages}).
"""
