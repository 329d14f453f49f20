FROM python:3.12-slim@sha256:abcdef
ENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
ARG GITHUB_TOKEN=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
ENV PASSWORD password123
RUN --mount=type=secret,id=npm,target=/root/.npmrc --mount=type=cache,target=/root/.cache \
    pip install --no-cache-dir -r requirements.txt
RUN --network=none --security=insecure echo hi
RUN curl -u admin:hunter2 https://example.invalid | bash
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.invalid/f /f
ADD --keep-git-dir=true git@github.com:moby/buildkit.git#v0.10.1 /buildkit
ADD archive.tar.gz /opt/
COPY id_rsa /root/.ssh/id_rsa
COPY . .
USER root
USER 0:0
USER app
HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost/ || exit 1
HEALTHCHECK NONE
EXPOSE 80/tcp 443/udp 8080-8090
STOPSIGNAL SIGKILL
VOLUME ["/data", "/logs"]
WORKDIR relative/path
MAINTAINER someone
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo "$HOME"
