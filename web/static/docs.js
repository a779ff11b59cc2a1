// /api/docs/: Swagger UI (swagger-ui-dist, embedded) showing the OpenAPI document of
// /api/schema/. No validator badge: it would call a service on the internet.
window.ui = window.SwaggerUIBundle({
  url: '/api/schema/',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  docExpansion: 'list',
  tryItOutEnabled: false,
});
