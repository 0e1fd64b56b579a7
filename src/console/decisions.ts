/**
 * Deciding in the browser: the console builds the approval statement for the run at the gate,
 * the approver's passkey signs sha256(statement) as the WebAuthn challenge, and the console
 * relays the assertion to the workflow's decide update. It relays only: the validator in the
 * workflow checks the assertion against the pinned roster (src/approval/passkey-assertion.ts),
 * so the console cannot decide by itself, and a session alone signs nothing. Promotions and chart
 * releases share one gate, so they share these routes: a kind names the path and the id's form.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { APPROVAL_STATEMENT_TYPE } from '../approval/constants';
import { statementChallenge } from '../approval/passkey-assertion';
import { canonicalStatement, type ApprovalStatement } from '../approval/statement';
import { decide, getApproval } from '../client/promotions';
import { CountersignError } from '../errors';
import type { AuthState, ConsoleAccess } from './auth';

const MAX_REASON = 2048;
const APPROVER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** What can be decided here: /<path>/:id/statement and /<path>/:id/decide, ids checked by `idFrom`. */
export interface DecidableKind {
  path: 'promotions' | 'charts';
  idFrom: (value: string) => string;
}

export function installDecisionRoutes(app: FastifyInstance, client: Client, access: ConsoleAccess, auth: AuthState, kinds: DecidableKind[]): void {
  for (const kind of kinds) installKind(app, client, access, auth, kind);
}

function installKind(app: FastifyInstance, client: Client, access: ConsoleAccess, auth: AuthState, { path, idFrom }: DecidableKind): void {
  /** Who decides: the session's approver; on the login-free dev console, the name the form gives. */
  const approverOf = (req: Parameters<AuthState['session']>[0], claimed: unknown): string => {
    if (access.login) return auth.session(req)!.approver;
    if (typeof claimed !== 'string' || !APPROVER.test(claimed)) throw new CountersignError('BAD_INPUT', 'approver: your name in the roster (letters, digits and . _ @ -)');
    return claimed;
  };

  app.post<{ Params: { id: string }; Body: { decision?: unknown; reason?: unknown; approver?: unknown } }>(`/${path}/:id/statement`, async (req) => {
    if (!access.rp) throw new CountersignError('BAD_CONFIG', "deciding with a passkey needs console.origin in the worker's configuration");
    const id = idFrom(req.params.id);
    const decision = req.body?.decision;
    if (decision !== 'approve' && decision !== 'reject') throw new CountersignError('BAD_INPUT', 'decision: approve or reject');
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim() : '';
    if (reason.length > MAX_REASON) throw new CountersignError('BAD_INPUT', `reason: ${reason.length} characters; at most ${MAX_REASON}`);
    if (decision === 'reject' && !reason) throw new CountersignError('BAD_INPUT', 'reason: a rejection needs one');
    const approver = approverOf(req, req.body?.approver);
    const view = await getApproval(client, id);
    // The evidence pack the gate shows, when it shows one: the vote is signed over that pack (the
    // statement's `evidence`, docs/approvals.md), so a pack that changes before it arrives voids it.
    const evidence = (view as { evidence?: { digest?: unknown } }).evidence?.digest;
    const statement: ApprovalStatement & { evidence?: string } = {
      _type: APPROVAL_STATEMENT_TYPE,
      promotionId: view.subject.id,
      ...(view.subject.runId !== undefined ? { runId: view.subject.runId } : {}),
      digest: view.subject.digest,
      ...(typeof evidence === 'string' ? { evidence } : {}),
      decision,
      ...(reason ? { reason } : {}),
      approver,
      time: new Date().toISOString(),
    };
    const text = canonicalStatement(statement);
    const credentials = access.passkeys[approver] ?? [];
    return {
      statement: text,
      // WebAuthn request options (JSON form): the challenge is the statement's digest.
      options: { challenge: statementChallenge(text), rpId: access.rp.rpId, userVerification: 'required', timeout: 120_000, allowCredentials: credentials.map((c) => ({ id: c.id, type: 'public-key' })) },
    };
  });

  app.post<{ Params: { id: string }; Body: { statement?: unknown; response?: { id?: unknown; response?: Record<string, unknown> } } }>(`/${path}/:id/decide`, async (req) => {
    const id = idFrom(req.params.id);
    const statement = req.body?.statement;
    const response = req.body?.response;
    const fields = response?.response ?? {};
    if (typeof statement !== 'string' || typeof response?.id !== 'string' || typeof fields.signature !== 'string' || typeof fields.authenticatorData !== 'string' || typeof fields.clientDataJSON !== 'string') {
      throw new CountersignError('BAD_INPUT', 'a decision is { statement, response: the passkey assertion }');
    }
    if (access.login) {
      let named: unknown;
      try {
        named = (JSON.parse(statement) as { approver?: unknown }).approver;
      } catch {
        throw new CountersignError('BAD_INPUT', 'the statement is not JSON');
      }
      // Not what makes the vote count (the workflow checks the signature); a session relays its own votes only.
      if (named !== auth.session(req)!.approver) throw new CountersignError('APPROVAL_REFUSED', `this session is ${auth.session(req)!.approver}'s; the statement names ${String(named).slice(0, 64)}`);
    }
    const view = await decide(client, id, {
      statement,
      signature: fields.signature,
      passkey: { credentialId: response.id, authenticatorData: fields.authenticatorData, clientDataJSON: fields.clientDataJSON },
    });
    return { summary: view.summary, state: view.state };
  });
}
