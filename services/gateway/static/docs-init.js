// Starts Swagger UI on /openapi.json. The API key stays in memory (persistAuthorization: false).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 1,
  validatorUrl: null,
});
