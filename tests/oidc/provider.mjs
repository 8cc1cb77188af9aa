// The real OpenID provider of the sign-in tests: oidc-provider (pinned in package-lock.json), on loopback.
// Configuration comes as JSON in OIDC_CONFIG: {port, clients: [...client metadata], accounts: {id: claims}}.
// Its built-in development interactions (documented: GET /interaction/:uid shows the login or consent
// form, POST /interaction/:uid with prompt=login&login=<account id> or prompt=consent submits it) stand in
// for a person at the browser. Prints "ready <issuer>" once it listens.
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_CONFIG);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  pkce: { required: () => true },
  cookies: { keys: ['trellis-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(config.port, '127.0.0.1', () => console.log(`ready ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
