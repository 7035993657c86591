global using LimitExceededException = Sessions.Cluster.Core.LimitExceededException;
