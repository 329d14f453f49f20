FROM busybox
RUN stat -c "%s %n %a %F %g %u" /tmp/test/*
