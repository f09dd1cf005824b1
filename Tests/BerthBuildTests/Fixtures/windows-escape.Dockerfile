# escape=`

FROM mcr.microsoft.com/windows/servercore
SHELL ["powershell", "-command"]
COPY testfile.txt c:\
RUN New-Item -ItemType Directory C:\Example
ADD Execute-MyCmdlet.ps1 c:\example\
RUN Write-Host `
    'hello world'
