# BOM at start
# escape=\
	FROM		alpine	AS	Stage-One   
from STAGE-ONE as two
RUN
ENV
ARG =value
ENV =x
LABEL
COPY
FROM
FROM a b c d
UNKNOWN instruction here
RUN echo $'\t' ${#x} $ ${} ${:-} ${a:} ${a/} ${a//x/y} ${a^^}
RUN echo "unterminated
RUN echo 'unterminated
RUN echo \
