# -*- test-case-name: tests.tcp.test_protocol,tests.signing.test_signed_answers -*-
"""
Answering: from complete request lines to reply bytes, a budget at a time.

An L{Answerer} turns the complete lines of a L{LineReader} into replies
until it has done about one work budget of work (reply bytes, and a fixed
cost per line it parses), so that one
connection's expensive requests cannot hold the reactor: the rest wait for a
later turn.  It counts requests and errors as it answers them; the numbers
it reports are counted by the protocol once they are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from randnum.generation.source import NumberSource
from randnum.generation.values import UUID7Clock, batches
from randnum.query import Query, QueryError, parseLine
from randnum.stats import TcpStats
from randnum.tcp.framing import LineReader

#: What parsing one parameter line costs, counted against the work budget
#: as if it were this many bytes of reply: parsing takes a few microseconds,
#: as long as rendering a few hundred bytes of numbers does.  Without it, a
#: flood of tiny requests (C{n=1}) would hold the reactor for a whole chunk.
PARSE_COST = 256

#: What parsing costs a byte of the line, at least, in the same measure:
#: percent-encoded C{data}, the dearest to parse, takes about 150 ns a byte,
#: as long as four bytes of reply (a line of unique 1 KB values must not
#: cost as little as C{n=1}).
PARSE_COST_PER_BYTE = 4

#: A request whose reply may be larger than this is made and sent a piece
#: (about one work budget) at a time, a piece a turn, while the peer reads:
#: the largest (16 MiB) neither holds the reactor nor sits in memory.
#: Integer replies, at most 210 KB, are below it and made at once.
STREAM_ABOVE = 256 * 1024

#: What signing and storing one record costs, counted against the work
#: budget as bytes of reply: an Ed25519 signature takes about as long as
#: rendering a few kilobytes of numbers.
SIGN_COST = 4096

#: How many request lines' queries an answerer remembers (see
#: L{Answerer._parse}).
PARSED_LINES = 256

#: How much more a byte of a signed reply costs than one of a plain reply:
#: its values are written as JSON, then hashed, signed and stored
#: (measured: about four times).
SIGNED_WEIGHT = 4

#: Replies to one turn's lines (the bytes, and how many values they hold).
Reply = tuple[bytes, int]

#: The reply to a signed request when its record cannot be stored.
UNAVAILABLE = QueryError("audit store unavailable", "audit_unavailable")


def replyCost(query: Query) -> int:
    """
    What answering C{query} costs, in bytes of an ordinary reply.
    """
    return query.workSize()


class Answerer:
    """
    Answer the requests of every connection of one server's TCP face.
    """

    def __init__(
        self,
        source: NumberSource,
        defaults: Query,
        stats: TcpStats,
        uuid7: UUID7Clock | None = None,
        signedDraw: Callable[[Query, str], Deferred[bytes]] | None = None,
    ) -> None:
        """
        @param signedDraw: makes a signed draw's record (see
            L{randnum.server.RandnumServer.signedDraw}); signed requests are
            refused without it.
        """
        self.source = source
        self.uuid7 = uuid7 or UUID7Clock()
        self.defaults = defaults
        self.stats = stats
        self.signedDraw = signedDraw or _notSigning
        # Bound once, so that each request need not look them up.
        self.renderDefaults = source.renderer(defaults.min, defaults.max)
        self.renderOne = source.oneRenderer(defaults.min, defaults.max)
        self.defaultCost = replyCost(defaults)
        self._parsed: dict[bytes, tuple[Query, int]] = {}
        #: What the last call of L{lines} cost, in bytes of an ordinary
        #: reply (a streamed reply's piece costs a budget).
        self.lastCost = 0

    def raw(self) -> bytes:
        """
        The reply to one raw request: a bare number in the default range.
        """
        stats = self.stats
        stats.requests += 1
        stats.rawRequests += 1
        return self.renderOne()

    def defaultLines(self, count: int) -> bytes:
        """
        The replies to C{count} lines that ask for the defaults.
        """
        self.stats.requests += count
        if count == 1:
            return self.renderOne() + b"\n"
        return b"\n".join(self.renderDefaults(count)) + b"\n"

    def lines(
        self, reader: LineReader, budget: int, client: str = "local"
    ) -> Reply | Deferred[Reply]:
        """
        Answer complete lines of C{reader}, in order, until about C{budget}
        bytes of replies are made (always at least one line).

        @return: the replies, and how many values they hold; or, when some
            are signed records, a L{Deferred} that fires with them once
            every record is stored (it never fails: a record that cannot be
            stored becomes C{ERR audit store unavailable}).
        """
        if reader.answering is not None:
            self.lastCost = budget
            return self._nextPiece(reader)
        buffer, pos, end = reader.buffer, reader.pos, reader.end
        if buffer.find(b"=", pos, end) < 0:
            # No parameter request among these lines: the common pipelined
            # case, answered with one bulk draw.
            allowed = max(1, budget // self.defaultCost)
            cut = end
            if end - pos > allowed:
                # At most `allowed` lines start in the next `allowed` bytes.
                cut = buffer.rfind(b"\n", pos, pos + allowed) + 1
                if not cut:
                    cut = buffer.find(b"\n", pos) + 1
            count = buffer.count(b"\n", pos, cut)
            reader.consumed(cut)
            self.lastCost = count * self.defaultCost
            return self.defaultLines(count), count
        answers: list[Query | QueryError] = []
        cost = 0
        while pos < end:
            newline = buffer.find(b"\n", pos, end)
            line = buffer[pos:newline]
            answer: Query | QueryError
            if b"=" in line:
                try:
                    answer, lineCost = self._parse(line)
                except QueryError as error:
                    answer = error
                    lineCost = max(PARSE_COST, PARSE_COST_PER_BYTE * len(line))
            else:
                answer, lineCost = self.defaults, self.defaultCost
            if answers and cost + lineCost > budget:
                break
            if (
                lineCost > STREAM_ABOVE
                and isinstance(answer, Query)
                and not answer.signed
            ):
                if answers:
                    break  # first, the answers before it
                reader.consumed(newline + 1)
                self.stats.requests += 1
                reader.answering = self._pieces(answer, budget)
                self.lastCost = budget
                return self._nextPiece(reader)
            answers.append(answer)
            cost += lineCost
            pos = newline + 1
        reader.consumed(pos)
        self.lastCost = cost
        return self._render(answers, client)

    def _parse(self, line: bytes) -> tuple[Query, int]:
        """
        L{parseLine}, and what answering the line costs; remembering the
        last few lines': clients repeat their requests (a L{Query} is
        immutable, so it can be shared).

        @raise QueryError: as L{parseLine} does.
        """
        known = self._parsed.get(line)
        if known is None:
            query = parseLine(line, self.defaults)
            cost = max(replyCost(query), PARSE_COST, PARSE_COST_PER_BYTE * len(line))
            if query.signed:
                cost = SIGNED_WEIGHT * cost + SIGN_COST
            known = query, cost
            if len(self._parsed) >= PARSED_LINES:
                self._parsed.clear()
            self._parsed[line] = known
        return known

    def _render(
        self, answers: list[Query | QueryError], client: str
    ) -> Reply | Deferred[Reply]:
        """
        One reply line per answer.  Default requests share one bulk draw;
        the others are drawn one by one.
        """
        count = sum(a is self.defaults for a in answers)
        defaults = iter(self.renderDefaults(count) if count else ())
        replies: list[bytes] = []
        numbers = errors = 0
        signed: list[tuple[int, Query, Deferred[bytes]]] = []
        for answer in answers:
            if isinstance(answer, Query) and answer.signed:
                try:
                    record = self.signedDraw(answer, client)
                except QueryError as error:
                    answer = error
                else:
                    signed.append((len(replies), answer, record))
                    replies.append(b"")
                    continue
            if answer is self.defaults:
                replies.append(next(defaults))
                numbers += 1
            elif isinstance(answer, Query):
                if answer.type == "int":
                    replies.append(b" ".join(self.source.renderAnswer(answer)))
                else:
                    replies.append(
                        b" ".join(
                            value
                            for batch in batches(self.source, answer, self.uuid7)
                            for value in batch
                        )
                    )
                numbers += answer.n
            else:
                replies.append(b"ERR " + answer.reason.encode("utf-8", "replace"))
                self.stats.errorKinds[answer.kind] += 1
                errors += 1
        stats = self.stats
        stats.requests += len(answers)
        stats.errors += errors
        replies.append(b"")
        if signed:
            return self._whenStored(replies, numbers, signed)
        return b"\n".join(replies), numbers

    def _whenStored(
        self,
        replies: list[bytes],
        numbers: int,
        signed: list[tuple[int, Query, Deferred[bytes]]],
    ) -> Deferred[Reply]:
        """
        The replies, once each signed record among them is stored (or known
        never to be: then its line is C{ERR audit store unavailable}).
        """
        done: Deferred[Reply] = Deferred()
        left = [len(signed), numbers]

        def stored(result: bytes | Failure, at: int, query: Query) -> None:
            if isinstance(result, Failure):
                replies[at] = b"ERR " + UNAVAILABLE.reason.encode("ascii")
                self.stats.countError(UNAVAILABLE.kind)
            else:
                replies[at] = result
                left[1] += query.n
            left[0] -= 1
            if not left[0]:
                done.callback((b"\n".join(replies), left[1]))

        for at, query, record in signed:
            record.addBoth(stored, at, query)
        return done

    def _pieces(self, query: Query, budget: int) -> Iterator[tuple[bytes, int]]:
        """
        The reply to C{query} in pieces of about C{budget} bytes, the last
        ending the line.
        """
        left = query.n
        # A budget of work: fewer values where each costs more.
        size = budget * query.replySize() // query.workSize()
        for batch in batches(self.source, query, self.uuid7, size):
            left -= len(batch)
            yield b" ".join(batch) + (b" " if left else b"\n"), len(batch)

    def _nextPiece(self, reader: LineReader) -> tuple[bytes, int]:
        """
        The next piece of the reply being made.
        """
        assert reader.answering is not None
        piece = next(reader.answering)
        if piece[0].endswith(b"\n"):
            reader.answering = None
        return piece


def _notSigning(query: Query, client: str) -> Deferred[bytes]:
    raise QueryError("signing is not enabled", "signing_disabled")
