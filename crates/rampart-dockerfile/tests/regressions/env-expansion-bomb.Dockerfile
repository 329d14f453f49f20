# Fuzz regression (out-of-memory): the same with ENV, before the first FROM via a global ARG too.
ARG g0=xxxxxxxx
ARG g1=$g0$g0$g0$g0
ARG g2=$g1$g1$g1$g1
FROM alpine:3.19
ARG g2
ENV e0=$g2
ENV e1=$e0$e0$e0$e0
ENV e2=$e1$e1$e1$e1
ENV e3=$e2$e2$e2$e2
ENV e4=$e3$e3$e3$e3
ENV e5=$e4$e4$e4$e4
ENV e6=$e5$e5$e5$e5
ENV e7=$e6$e6$e6$e6
ENV e8=$e7$e7$e7$e7
ENV e9=$e8$e8$e8$e8
RUN echo $e9
