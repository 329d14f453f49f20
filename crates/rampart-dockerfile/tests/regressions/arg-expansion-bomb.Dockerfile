# Fuzz regression (out-of-memory): every ARG quadruples the previous value, so 11 lines expand to
# 32 MiB and 3 more to over 2 GiB (variable values were stored fully expanded, without a limit).
FROM alpine:3.19
ARG a0=xxxxxxxx
ARG a1=$a0$a0${a0}"$a0"
ARG a2=$a1$a1${a1}"$a1"
ARG a3=$a2$a2${a2}"$a2"
ARG a4=$a3$a3${a3}"$a3"
ARG a5=$a4$a4${a4}"$a4"
ARG a6=$a5$a5${a5}"$a5"
ARG a7=$a6$a6${a6}"$a6"
ARG a8=$a7$a7${a7}"$a7"
ARG a9=$a8$a8${a8}"$a8"
ARG a10=$a9$a9${a9}"$a9"
ARG a11=$a10$a10${a10}"$a10"
RUN echo "$a11"
