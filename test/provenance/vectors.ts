import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseStatement, type Statement } from '../../src/provenance/statement';

const DIR = path.join(__dirname, '..', 'vectors', 'provenance');

/** Commits named by the vectors in test/vectors/provenance (see its README). */
export const VECTOR_COMMITS = {
  examplePackage: '4d329c75e7ec1725f7c9ce917a8799d408d06be3',
  attest: '283bf967fa3c591925dd25e6a6e8e781542117bf',
  sigstoreJs: '26d16513386ffaa790b1c32f927544f1322e4194',
  gitlab: '8c3f0a7d2b9e4f61a5d0c7b3e2f1a9d8c6b5e4f3',
};

/** The in-toto statement in a vector: a sigstore bundle's DSSE payload, or the statement itself. */
export function vectorStatement(file: string): Statement {
  const text = readFileSync(path.join(DIR, file), 'utf8');
  const envelope = (JSON.parse(text) as { dsseEnvelope?: { payload: string; payloadType: string } }).dsseEnvelope;
  if (envelope && envelope.payloadType !== 'application/vnd.in-toto+json') throw new Error(`${file}: payload type ${envelope.payloadType}`);
  return parseStatement(envelope ? Buffer.from(envelope.payload, 'base64') : Buffer.from(text));
}

/** A fresh copy of a vector's predicate, safe to edit. */
export function vectorPredicate(file: string): any {
  return structuredClone(vectorStatement(file).predicate);
}
