global using LimitExceededException = Sessions.Cluster.Core.LimitExceededException;
global using Sessions.Cluster.Core;
