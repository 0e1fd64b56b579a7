/**
 * Quorum arithmetic: which approval counts toward which group. Each person counts once, even if
 * they sit in several groups, so approvals are matched to group seats with a maximum bipartite
 * matching (augmenting paths); a greedy assignment can miss a quorum that exists.
 */

/** A group as the quorum sees it: a name, how many of its members must approve, who they are. */
export interface QuorumGroup {
  name: string;
  required: number;
  members: string[];
}

export interface QuorumResult {
  met: boolean;
  /** approver -> group the approval counts toward */
  assignment: Record<string, string>;
  /** group -> approvals counted */
  have: Record<string, number>;
}

export function evaluateQuorum(groups: QuorumGroup[], approvers: string[]): QuorumResult {
  const seats: string[] = groups.flatMap((g) => Array.from({ length: g.required }, () => g.name));
  const seatHolder: Array<string | undefined> = seats.map(() => undefined);
  const memberOf = (person: string, group: string) => groups.find((g) => g.name === group)?.members.includes(person) ?? false;

  const tryAssign = (person: string, visited: Set<number>): boolean => {
    for (let s = 0; s < seats.length; s++) {
      if (visited.has(s) || !memberOf(person, seats[s])) continue;
      visited.add(s);
      const holder = seatHolder[s];
      if (holder === undefined || tryAssign(holder, visited)) {
        seatHolder[s] = person;
        return true;
      }
    }
    return false;
  };
  for (const person of [...new Set(approvers)]) tryAssign(person, new Set());

  const assignment: Record<string, string> = {};
  const have: Record<string, number> = Object.fromEntries(groups.map((g) => [g.name, 0]));
  seatHolder.forEach((person, s) => {
    if (person === undefined) return;
    assignment[person] = seats[s];
    have[seats[s]] += 1;
  });
  return { met: seatHolder.every((p) => p !== undefined), assignment, have };
}

/** True when the approvals so far plus every still-eligible voter could still meet the quorum. */
export function quorumReachable(groups: QuorumGroup[], approved: string[], stillEligible: string[]): boolean {
  return evaluateQuorum(groups, [...approved, ...stillEligible]).met;
}
