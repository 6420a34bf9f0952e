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
 * requests in flight) or "connect" (CONNECTIONS workers, each
 * connecting, sending one request, reading the reply and closing, again and
 * again).  A request is REQUEST (default: empty) and a newline.  It connects to 127.0.0.1:PORT, runs for SECONDS, and prints one
 * JSON object with the keys `randnum bench --json` uses.
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

struct connection {
    int open;
    int connecting;
    int inFlight;
    double sent[4096]; /* send times of the requests in flight (a ring) */
    int first;
    /* The reply being read: bytes so far (up to 3), how many of them
       match "ERR", and its spaces (numbers are space-separated). */
    int column, matched, spaces;
};

static struct connection *connections[MAX_FDS];
static unsigned long long histogram[BUCKETS + 1];
static unsigned long long replies, numbers, errors;
static struct sockaddr_in address;
static int poller, pipelineDepth, lineMode;
static char *requests;
static size_t requestSize;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void record(double seconds) {
    long micros = (long)(seconds * 1e6);
    histogram[micros < BUCKETS ? micros : BUCKETS]++;
}

static void sendRequests(int fd, int count) {
    struct connection *c = connections[fd];
    double t = now();
    for (int i = 0; i < count; i++)
        c->sent[(c->first + c->inFlight + i) % 4096] = t;
    c->inFlight += count;
    /* A few KB at most on a connected socket with room: all or nothing. */
    ssize_t size = (ssize_t)(count * requestSize);
    if (send(fd, requests, size, MSG_NOSIGNAL) != size)
        errors++;
}

static void openOne(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || fd >= MAX_FDS) {
        perror("socket");
        exit(2);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct connection *c = connections[fd];
    if (!c)
        c = connections[fd] = calloc(1, sizeof *c);
    memset(c, 0, sizeof *c);
    c->open = c->connecting = 1;
    c->sent[0] = now();
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0 &&
        errno != EINPROGRESS) {
        errors++;
    }
    struct epoll_event event = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
}

static void closeOne(int fd) {
    connections[fd]->open = 0;
    close(fd); /* also leaves the epoll set */
}

static void failed(int fd) {
    errors++;
    closeOne(fd);
    openOne();
}

static void event(int fd, int running) {
    struct connection *c = connections[fd];
    if (!c || !c->open)
        return;
    if (c->connecting) {
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error) {
            failed(fd);
            return;
        }
        c->connecting = 0;
        struct epoll_event in = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(poller, EPOLL_CTL_MOD, fd, &in);
        if (lineMode) {
            sendRequests(fd, pipelineDepth);
        } else {
            double started = c->sent[0];
            sendRequests(fd, 1);
            c->sent[0] = started; /* connect mode: latency from connect() */
        }
        return;
    }
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
    if (!lineMode) {
        if (!answered)
            return; /* the rest of the reply is still to come */
        record(now() - c->sent[0]);
        closeOne(fd);
        if (running)
            openOne();
        return;
    }
    double t = now();
    for (int i = 0; i < answered && c->inFlight; i++) {
        record(t - c->sent[c->first]);
        c->first = (c->first + 1) % 4096;
        c->inFlight--;
    }
    if (running && answered)
        sendRequests(fd, answered < pipelineDepth ? answered : pipelineDepth);
    else if (!running && !c->inFlight)
        closeOne(fd);
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
    int count = atoi(argv[3]);
    pipelineDepth = atoi(argv[4]);
    double seconds = atof(argv[5]);
    if (pipelineDepth < 1 || pipelineDepth > 4000 || count < 1) {
        fprintf(stderr, "PIPELINE must be 1..4000, CONNECTIONS at least 1\n");
        return 2;
    }
    const char *request = argc == 7 ? argv[6] : "";
    requestSize = strlen(request) + 1;
    requests = malloc(requestSize * pipelineDepth);
    for (int i = 0; i < pipelineDepth; i++) {
        memcpy(requests + i * requestSize, request, requestSize - 1);
        requests[(i + 1) * requestSize - 1] = '\n';
    }
    poller = epoll_create1(0);
    for (int i = 0; i < count; i++)
        openOne();
    double start = now(), end = start + seconds, stopped = end;
    struct epoll_event events[256];
    int running = 1;
    for (;;) {
        double t = now();
        if (running && t >= end) {
            running = 0;
            stopped = t;
        }
        if (!running && t >= end + 2)
            break; /* replies still due after two seconds are not counted */
        int ready = epoll_wait(poller, events, 256, 100);
        for (int i = 0; i < ready; i++)
            event(events[i].data.fd, running);
        if (!running) {
            int left = 0;
            for (int fd = 0; fd < MAX_FDS; fd++)
                left += connections[fd] && connections[fd]->open;
            if (!left)
                break;
        }
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                 usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    double elapsed = stopped - start;
    printf("{\"requests\": %llu, \"numbers\": %llu, \"errors\": %llu, "
           "\"seconds\": %.3f, \"numbers_per_second\": %.1f, "
           "\"requests_per_second\": %.1f, \"latency_p50_ms\": %.3f, "
           "\"latency_p99_ms\": %.3f, \"client_cpu_percent\": %.1f}\n",
           replies, numbers, errors, elapsed, numbers / elapsed, replies / elapsed,
           percentile(0.5), percentile(0.99), 100 * cpu / elapsed);
    return 0;
}
