FROM busybox
CMD ["a", "b\"c", "\u00e9", "\\"]
CMD ["unterminated
ENTRYPOINT [ ]
RUN ["sh","-c","echo \"nested\" && sudo su -"]
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN wget -qO- https://example.invalid | sh
COPY ["a b", "c d", "/dest/"]
ADD ['single', 'quotes']
RUN [1, 2, 3]
