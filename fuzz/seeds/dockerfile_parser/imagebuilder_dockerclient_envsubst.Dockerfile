FROM busybox

ENV FOO="value"
LABEL test="$FOO"
