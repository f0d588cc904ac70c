/** A member's role in a team: what the module's routes and proxy rules check (the standalone server's team_members.role too). */
export const TEAM_ROLES = ['owner', 'admin', 'member'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];
