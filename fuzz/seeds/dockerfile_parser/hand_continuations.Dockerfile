FROM debian:bookworm
RUN apt-get update \
 # a comment inside a continuation
 && apt-get install -y \
      ca-certificates \
      curl=7.88.1-10 \
      sudo \

 && rm -rf /var/lib/apt/lists/*
RUN echo a \
    \
    b
ENV A=1 \
    B="two words" \
    C='single $A'
LABEL a=b \
      "c d"="e f"
RUN echo trailing backslash at EOF \
