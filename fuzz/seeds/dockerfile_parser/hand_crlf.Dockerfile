FROM a
RUN echo b \
  c
