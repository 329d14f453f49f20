# escape=`
# syntax=docker/dockerfile:1
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN Invoke-WebRequest -Uri https://example.invalid/x.zip `
    -OutFile C:\x.zip ; `
    Expand-Archive C:\x.zip -DestinationPath C:\x
COPY . C:\app\
ENV PATH="C:\app;${PATH}"
USER ContainerAdministrator
CMD ["C:\\app\\run.exe"]
