FROM node:20
ONBUILD ARG NPM_TOKEN
ONBUILD COPY package*.json ./
ONBUILD RUN npm ci
ONBUILD ADD https://example.invalid/a.tar.gz /tmp/
ONBUILD ONBUILD RUN echo nested
ONBUILD FROM alpine
ONBUILD
onbuild run echo lowercase
