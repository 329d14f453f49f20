FROM alpine
RUN <<EOF
no terminator