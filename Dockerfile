# The Sessions.Cluster server, embedded deployment (files + SQLite under /data).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Sessions.Cluster.Server -c Release -o /app

# The image listens on all interfaces, which the server refuses without API keys: run it with the operator key
# (at least 32 characters) in Sessions__Auth__OperatorKey, e.g.
#   docker run -p 8080:8080 -e Sessions__Auth__OperatorKey=<key> -v sessions:/data sessions-cluster
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV Sessions__DataDir=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["dotnet", "Sessions.Cluster.Server.dll", "--urls", "http://0.0.0.0:8080"]
