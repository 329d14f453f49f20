FROM busybox
RUN stat -c %u /