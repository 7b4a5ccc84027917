// A real OAuth 2.0 / OpenID Connect server for the tests: oauth2-mock-server (npm), listening on
// 127.0.0.1 at a free port, which it prints on stdout. It runs until its stdin closes (the test
// harness holds the pipe), so it never outlives the tests.
//
// Its authorization endpoint answers at once (no login page) with a redirect to the client's
// redirect_uri carrying a code and the state; its token endpoint checks PKCE and issues
// access and refresh tokens. One thing is added: refreshing with the refresh token "revoked"
// fails with invalid_grant, the way a provider answers when the user revoked the app.
const dir = process.argv[2];
const { OAuth2Server } = await import(`${dir}/dist/index.mjs`);
const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
server.service.on('beforeResponse', (response, req) => {
  if (req.body && req.body.grant_type === 'refresh_token' && req.body.refresh_token === 'revoked') {
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'The refresh token was revoked' };
  }
});
await server.start(0, '127.0.0.1');
const port = server.address().port;
server.issuer.url = `http://127.0.0.1:${port}`;
console.log(port);
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.stop();
  process.exit(0);
});
