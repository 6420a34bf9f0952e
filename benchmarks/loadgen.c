/*
 * A load generator for line servers (randnum and the references), in C, for
 * benchmarks/compare.py --client c: the same loads as `randnum bench`, at a
 * fraction of its CPU per request, so that on a small machine the server,
 * not the client, takes the cores.
 *
 *     gcc -O2 -o loadgen loadgen.c
 *     ./loadgen PORT MODE CONNECTIONS PIPELINE SECONDS [REQUEST]
 *
 * MODE is "line" (CONNECTIONS persistent connections, each keeping PIPELINE
 * requests in flight) or "connect" (CONNECTIONS workers, each connecting,
 * sending one request, reading the reply and closing, again and again).  A
 * request is REQUEST (default: empty) and a newline.  It connects to
 * 127.0.0.1:PORT, runs for SECONDS, and prints one JSON object with the keys
 * `randnum bench --json` uses.  Replies are counted until the deadline and
 * for at most two seconds after it, without new requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Latencies in microseconds, one bucket each, up to a second. */
#define BUCKETS 1000000
#define MAX_FDS 65536
/* What one send may carry: a fresh connection's kernel buffer takes it
   whole, so a send is never partial. */
#define MAX_BATCH 16384

struct connection {
    int open;
    int connecting;
    int inFlight;
    int first;
    double *sent; /* send times of the requests in flight: a ring */
    /* The reply being read: bytes so far (up to 3), how many of them
       match "ERR", and its spaces (numbers are space-separated). */
    int column, matched, spaces;
};

static struct connection connections[MAX_FDS];
static unsigned long long histogram[BUCKETS + 1];
static unsigned long long replies, numbers, errors;
static struct sockaddr_in address;
static int poller, pipelineDepth, lineMode, running = 1, live;
static double pauseUntil; /* no new connections before, after a failure */
static char *requests;
static size_t requestSize;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpuSeconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
           usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void record(double seconds) {
    long micros = (long)(seconds * 1e6);
    histogram[micros < BUCKETS ? micros : BUCKETS]++;
}

static void closeOne(int fd) {
    connections[fd].open = 0;
    live--;
    close(fd); /* also leaves the epoll set */
}

/* The connection broke: an error if anything was still due on it (not,
   say, a close right after an "ERR busy" reply). */
static void failed(int fd) {
    struct connection *c = &connections[fd];
    if (c->connecting || c->inFlight || c->column) {
        errors++;
        pauseUntil = now() + 0.01;
    }
    closeOne(fd);
}

static void sendRequests(int fd, int count) {
    struct connection *c = &connections[fd];
    double t = now();
    for (int i = 0; i < count; i++)
        c->sent[(c->first + c->inFlight + i) % pipelineDepth] = t;
    c->inFlight += count;
    ssize_t size = (ssize_t)(count * requestSize);
    if (send(fd, requests, size, MSG_NOSIGNAL) != size)
        failed(fd); /* a part sent would corrupt the next request */
}

static void openOne(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    if (fd >= MAX_FDS) {
        fprintf(stderr, "more than %d descriptors\n", MAX_FDS);
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct connection *c = &connections[fd];
    if (!c->sent)
        c->sent = malloc(pipelineDepth * sizeof *c->sent);
    c->open = c->connecting = 1;
    c->inFlight = c->first = c->column = c->matched = c->spaces = 0;
    c->sent[0] = now();
    live++;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0 &&
        errno != EINPROGRESS) {
        failed(fd);
        return;
    }
    struct epoll_event event = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
}

/* A connection attempt became writable: connected, or failed. */
static void connected(int fd) {
    struct connection *c = &connections[fd];
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error) {
        failed(fd);
        return;
    }
    c->connecting = 0;
    if (!running) {
        closeOne(fd); /* too late to ask anything */
        return;
    }
    struct epoll_event in = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(poller, EPOLL_CTL_MOD, fd, &in);
    if (lineMode) {
        sendRequests(fd, pipelineDepth);
    } else {
        double started = c->sent[0];
        sendRequests(fd, 1);
        c->sent[0] = started; /* connect mode: latency from connect() */
    }
}

static void readable(int fd) {
    struct connection *c = &connections[fd];
    char buffer[65536];
    ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got == 0 && !lineMode && c->column) {
        /* A server that closes after its reply (the original one's way)
           ends the reply with the connection instead of a newline. */
        got = 1;
        buffer[0] = '\n';
    } else if (got <= 0) {
        failed(fd);
        return;
    }
    /* Count whole replies: numbers in each, or an error. */
    int answered = 0;
    for (ssize_t i = 0; i < got; i++) {
        char b = buffer[i];
        if (b == '\n') {
            answered++;
            if (c->matched == 3)
                errors++;
            else
                numbers += c->spaces + 1;
            c->column = c->matched = c->spaces = 0;
            continue;
        }
        if (c->column < 3 && c->matched == c->column && b == "ERR"[c->column])
            c->matched++;
        c->column += c->column < 3;
        c->spaces += b == ' ';
    }
    replies += answered;
    double t = now();
    for (int i = 0; i < answered && c->inFlight; i++) {
        record(t - c->sent[c->first]);
        c->first = (c->first + 1) % pipelineDepth;
        c->inFlight--;
    }
    int room = pipelineDepth - c->inFlight;
    if (!lineMode) {
        if (answered)
            closeOne(fd); /* and the main loop opens the next */
    } else if (running && answered && room) {
        sendRequests(fd, answered < room ? answered : room);
    } else if (!running && !c->inFlight) {
        closeOne(fd);
    }
}

static double percentile(double fraction) {
    unsigned long long total = 0, seen = 0;
    for (long i = 0; i <= BUCKETS; i++)
        total += histogram[i];
    for (long i = 0; i <= BUCKETS; i++) {
        seen += histogram[i];
        if (total && seen >= fraction * total)
            return (i + 0.5) / 1000.0;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr,
                "usage: %s PORT line|connect CONNECTIONS PIPELINE SECONDS [REQUEST]\n",
                argv[0]);
        return 2;
    }
    address.sin_family = AF_INET;
    address.sin_port = htons(atoi(argv[1]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lineMode = strcmp(argv[2], "line") == 0;
    int wanted = atoi(argv[3]);
    pipelineDepth = lineMode ? atoi(argv[4]) : 1;
    double seconds = atof(argv[5]);
    const char *request = argc == 7 ? argv[6] : "";
    requestSize = strlen(request) + 1;
    if (pipelineDepth < 1 || wanted < 1 || wanted > MAX_FDS - 64 ||
        pipelineDepth * requestSize > MAX_BATCH) {
        fprintf(stderr, "CONNECTIONS must be 1..%d, PIPELINE at least 1, and "
                        "PIPELINE requests at most %d bytes\n",
                MAX_FDS - 64, MAX_BATCH);
        return 2;
    }
    /* One descriptor per connection (and more while closing). */
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < (rlim_t)wanted + 64) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    requests = malloc(requestSize * pipelineDepth);
    for (int i = 0; i < pipelineDepth; i++) {
        memcpy(requests + i * requestSize, request, requestSize - 1);
        requests[(i + 1) * requestSize - 1] = '\n';
    }
    poller = epoll_create1(0);
    double start = now(), end = start + seconds, stopped = end, cpu = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now();
        if (running && t >= end) {
            running = 0;
            stopped = t;
            cpu = cpuSeconds();
        }
        if (!running && (t >= end + 2 || !live))
            break;
        /* Keep CONNECTIONS open while running: replace what closed (after
           a pause if something failed, not to spin on a refusing port). */
        while (running && live < wanted && t >= pauseUntil)
            openOne();
        int ready = epoll_wait(poller, events, 256, live < wanted ? 10 : 100);
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (!connections[fd].open)
                continue;
            if (connections[fd].connecting)
                connected(fd);
            else
                readable(fd);
        }
    }
    double elapsed = stopped - start;
    printf("{\"requests\": %llu, \"numbers\": %llu, \"errors\": %llu, "
           "\"seconds\": %.3f, \"numbers_per_second\": %.1f, "
           "\"requests_per_second\": %.1f, \"latency_p50_ms\": %.3f, "
           "\"latency_p99_ms\": %.3f, \"client_cpu_percent\": %.1f}\n",
           replies, numbers, errors, elapsed, numbers / elapsed, replies / elapsed,
           percentile(0.5), percentile(0.99), 100 * cpu / elapsed);
    return 0;
}
