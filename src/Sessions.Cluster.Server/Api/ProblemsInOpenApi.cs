using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Adds the problem-details answers to the OpenAPI document: a <c>Problem</c> schema whose <c>code</c> lists every
/// stable code (<see cref="ApiErrors.Codes"/>), and on every operation the 4xx/503 answers with the codes each status
/// carries, so clients can be generated against them.
/// </summary>
internal sealed class ProblemsInOpenApi : IOpenApiDocumentTransformer
{
    private const string SchemaName = "Problem";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[SchemaName] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "RFC 7807 problem details with a stable code.",
            Required = new HashSet<string> { "status", "title", "detail", "code" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What went wrong and what to do, in a sentence." },
                ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = ApiErrors.Codes.Keys.Order(StringComparer.Ordinal).Select(c => (JsonNode)JsonValue.Create(c)).ToList() },
                ["limit"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "The limit that was reached (413, 429)." },
                ["used"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "What is used of it." },
                ["expected"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "409: the length or version the caller sent." },
                ["actual"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "409: the length or version stored." },
                ["index"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "400 invalid_entry: the entry's position in its batch." },
                ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };

        foreach (var path in document.Paths.Values)
        {
            foreach (var operation in path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            {
                operation.Responses ??= new OpenApiResponses();
                foreach (var status in ApiErrors.Codes.Values.Distinct().Order())
                {
                    var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (operation.Responses.ContainsKey(key))
                    {
                        continue;
                    }

                    var codes = ApiErrors.Codes.Where(c => c.Value == status).Select(c => c.Key).Order(StringComparer.Ordinal);
                    operation.Responses[key] = new OpenApiResponse
                    {
                        Description = $"{ApiErrors.TitleOf(status)}; code one of: {string.Join(", ", codes)}.",
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(SchemaName, document) },
                        },
                    };
                }
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Names the JSON body an endpoint reads itself (bodies are read with limits, not bound), for the OpenAPI document only:
/// unlike <c>Accepts&lt;T&gt;</c>, it does not make routing refuse requests sent with another content type.
/// </summary>
internal sealed record JsonBodyMetadata(Type Type);

/// <summary>Registration of <see cref="JsonBodyMetadata"/>.</summary>
internal static class JsonBodyDocumentation
{
    /// <summary>Documents <typeparamref name="T"/> as the endpoint's <c>application/json</c> request body.</summary>
    public static RouteHandlerBuilder DocumentsJsonBody<T>(this RouteHandlerBuilder builder) => builder.WithMetadata(new JsonBodyMetadata(typeof(T)));
}

/// <summary>Writes each endpoint's <see cref="JsonBodyMetadata"/> into its operation's request body.</summary>
internal sealed class JsonBodiesInOpenApi : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBodyMetadata>().FirstOrDefault() is not { } body)
        {
            return;
        }

        operation.RequestBody = new OpenApiRequestBody
        {
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new OpenApiMediaType { Schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken).ConfigureAwait(false) },
            },
        };
    }
}
