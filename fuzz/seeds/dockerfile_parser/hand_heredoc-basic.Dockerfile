# syntax=docker/dockerfile:1.7
FROM alpine:3.19 AS base
RUN <<EOT
set -eux
apk add --no-cache curl
curl -fsSL https://example.invalid/install.sh | sh
EOT
COPY <<-"EOF" /etc/app.conf
	key=value
	secret=${NOT_EXPANDED}
	EOF
RUN <<A cat > /a && <<'B' cat > /b
first $HOME
A
second $HOME
B
RUN python3 <<PY
print("hi")
PY
