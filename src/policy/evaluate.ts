/**
 * The policy step of the pipeline: infer the roles the user did not give, then check every
 * conversation against the matrix.
 */
import type { Conversation } from "../flow/conversation.js";
import { connState } from "../flow/conversation.js";
import { checkConversations, type PolicyResult } from "./check.js";
import { inferRoles } from "./infer.js";
import type { Matrix } from "./matrix.js";
import type { RoleMap } from "./roles.js";

export interface PolicyInput {
  conversations: readonly Conversation[];
  matrix: Matrix;
  roles: RoleMap;
  /** Seconds from the first to the last packet over all captures. */
  captureSeconds: number;
}

export function evaluate(input: PolicyInput): PolicyResult {
  inferRoles(input.conversations, input.matrix, input.roles);
  return checkConversations(input.conversations, { matrix: input.matrix, roles: input.roles, captureSeconds: input.captureSeconds }, connState);
}
