/* A UDP server for the integration tests (busybox's nc has no -u): answers every datagram on PORT with
 * "PREFIX:" and the datagram. Built statically by the tests and put into a test image.
 *
 *   udp-echo PORT PREFIX
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: udp-echo PORT PREFIX\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("udp-echo: bind");
        return 1;
    }
    printf("listening on %s/udp\n", argv[1]);
    fflush(stdout);
    size_t plen = strlen(argv[2]);
    for (;;) {
        char in[512], out[600];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &flen);
        if (n < 0) continue;
        if (plen + 1 + (size_t)n > sizeof out) n = (ssize_t)(sizeof out - plen - 1);
        memcpy(out, argv[2], plen);
        out[plen] = ':';
        memcpy(out + plen + 1, in, (size_t)n);
        sendto(fd, out, plen + 1 + (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
}
