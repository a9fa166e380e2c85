import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { budgetView, limitColumns, limitsView } from './limits.js';
import type { CreateUserBody, ListUsersQuery, UpdateUserBody, UserView } from './users.schemas.js';
import { toPage } from '../../common/http/pagination.js';
import { UsersRepository, type UserRow } from './users.repository.js';
import type { Tx } from '../../persistence/transaction-runner.js';
import { hashPassword, verifyPassword } from './password-hash.js';

/** Listens for changes that must end cached authentications at once (disable, demotion). */
export type UserChangeListener = (userId: string) => void;
/**
 * Ends a user's sign-in sessions, in the transaction of the change that calls for it (disabled,
 * password set by an admin, password changed by its user: all but `keepSessionId`), so that no
 * request in between sees the change without its consequence.
 */
export type SessionsEnder = (userId: string, tx: Tx, keepSessionId?: string) => Promise<void>;

@Injectable()
export class UsersService {
  private readonly listeners: UserChangeListener[] = [];
  private readonly sessionEnders: SessionsEnder[] = [];

  constructor(private readonly repo: UsersRepository) {}

  onUserChanged(listener: UserChangeListener): void {
    this.listeners.push(listener);
  }

  /** Registered by the sign-in module (which depends on this one, not the other way round). */
  onSessionsEnd(ender: SessionsEnder): void {
    this.sessionEnders.push(ender);
  }

  async create(input: CreateUserBody): Promise<UserView> {
    const row = await this.repo.create({
      name: input.name,
      email: input.email ?? null,
      role: input.role,
      ...(input.password !== undefined ? { passwordHash: await hashPassword(input.password) } : {}),
      ...(input.tools !== undefined ? { tools: input.tools } : {}),
      ...limitColumns(input.limits, input.budget),
    });
    return toUserView(row);
  }

  async get(id: string): Promise<UserView> {
    return toUserView(await this.findOrFail(id));
  }

  async list(query: ListUsersQuery): Promise<ListPage<UserView>> {
    return toPage(await this.repo.list(query, query.role), query, toUserView);
  }

  async update(id: string, input: UpdateUserBody): Promise<UserView> {
    // Hashed before the transaction: tens of milliseconds that need no lock.
    const passwordHash = typeof input.password === 'string' ? await hashPassword(input.password) : input.password;
    const row = await this.repo.transaction(async (tx) => {
      const current = await this.repo.findById(id, tx);
      if (!current) throw new DomainError('not_found', `No user with id ${id}.`);
      if (id === GUEST_USER_ID && input.role === 'admin') {
        throw new DomainError('conflict', 'The built-in guest user cannot be an admin.', { param: 'role' });
      }
      if (id === GUEST_USER_ID && typeof input.password === 'string') {
        throw new DomainError('conflict', 'The built-in guest user cannot sign in with a password.', { param: 'password' });
      }
      const losesAdmin = current.role === 'admin' && !current.disabled && (input.role === 'user' || input.disabled === true);
      if (losesAdmin && (await this.repo.countActiveAdmins(tx)) <= 1) {
        throw new DomainError('conflict', 'This is the last active admin; promote another user first.', {
          param: input.role === 'user' ? 'role' : 'disabled',
        });
      }
      const updated = await this.repo.update(
        id,
        {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.role !== undefined ? { role: input.role } : {}),
          ...(input.disabled !== undefined ? { disabled: input.disabled } : {}),
          ...(input.tools !== undefined ? { tools: input.tools } : {}),
          ...(passwordHash !== undefined ? { passwordHash } : {}),
          ...limitColumns(input.limits, input.budget),
        },
        tx,
      );
      // Disabling a user, or resetting their password, signs them out everywhere.
      if (input.disabled === true || input.password !== undefined) await this.endSessions(id, tx);
      return updated;
    }, ADMIN_LOCK);
    for (const listener of this.listeners) listener(id);
    return toUserView(row);
  }

  /**
   * Creates the first admin when there is none, atomically with its key (issued by `issueKey`
   * in the same transaction). Answers null when an admin already exists.
   */
  async bootstrapAdmin<R>(issueKey: (userId: string, tx: Tx) => Promise<R>): Promise<R | null> {
    return this.repo.transaction(async (tx) => {
      if (await this.repo.hasAnyAdmin(tx)) return null;
      const admin = await this.repo.create({ name: 'admin', role: 'admin' }, tx);
      return issueKey(admin.id, tx);
    }, ADMIN_LOCK);
  }

  /**
   * Creates or updates the built-in guest user (fixed id, name `guest`, role user, a daily budget
   * from config), atomically with its key (made or restored by `ensureKey`). Whether it is
   * disabled and its rate limits stay as an admin set them.
   */
  async ensureGuest<R>(budgetMicros: bigint, ensureKey: (userId: string, tx: Tx) => Promise<R>): Promise<{ user: UserView; key: R }> {
    const { row, key } = await this.repo.transaction(async (tx) => {
      const row = await this.repo.upsert(GUEST_USER_ID, { name: 'guest', role: 'user', budgetMicros, budgetPeriod: 'day' }, tx);
      return { row, key: await ensureKey(row.id, tx) };
    });
    // Cached callers and the budget's counters follow the row (its budget may have changed).
    for (const listener of this.listeners) listener(row.id);
    return { user: toUserView(row), key };
  }

  /**
   * The user a sign-in names (its email, any case, or its exact name) when the password matches;
   * else null, after the same scrypt work whether the account exists, has a password or not. A
   * name several users share names none (they sign in by email). The guest never signs in.
   */
  /** The account a sign-in names, for its failure count: the one user it names (by name or email), else the text as typed. */
  async loginAccount(nameOrEmail: string): Promise<string> {
    const matches = (await this.repo.findByNameOrEmail(nameOrEmail, 2)).filter((row) => row.id !== GUEST_USER_ID);
    return matches.length === 1 ? `id:${matches[0].id}` : `as-typed:${nameOrEmail.toLowerCase()}`;
  }

  async verifyLogin(nameOrEmail: string, password: string): Promise<UserRow | null> {
    const matches = (await this.repo.findByNameOrEmail(nameOrEmail, 2)).filter((row) => row.id !== GUEST_USER_ID);
    const row = matches.length === 1 ? matches[0] : null;
    const ok = await verifyPassword(password, row?.passwordHash ?? null);
    return ok ? row : null;
  }

  /**
   * The caller sets their own password: `current` must match the one they have; without one yet
   * (the first admin, who has only its printed key) it may be left out. Ends the user's other
   * sign-in sessions. Answers false when `current` is wrong or missing.
   */
  async changeOwnPassword(id: string, current: string | undefined, next: string, keepSessionId?: string): Promise<boolean> {
    const row = await this.findOrFail(id);
    if (row.passwordHash !== null || current !== undefined) {
      if (current === undefined || !(await verifyPassword(current, row.passwordHash))) return false;
    }
    const passwordHash = await hashPassword(next);
    await this.repo.transaction(async (tx) => {
      await this.repo.update(id, { passwordHash }, tx);
      await this.endSessions(id, tx, keepSessionId);
    });
    return true;
  }

  /** For the auth layer: the row behind a key, to check it is enabled. */
  findRow(id: string): Promise<UserRow | null> {
    return this.repo.findById(id);
  }

  private async endSessions(id: string, tx: Tx, keepSessionId?: string): Promise<void> {
    for (const end of this.sessionEnders) await end(id, tx, keepSessionId);
  }

  private async findOrFail(id: string): Promise<UserRow> {
    const row = await this.repo.findById(id);
    if (!row) throw new DomainError('not_found', `No user with id ${id}.`);
    return row;
  }
}

/** The built-in guest user's id: fixed, so every start and every replica finds the same account. */
export const GUEST_USER_ID = '00000000-0000-7000-8000-00000000a001';

/** Serialises changes to the set of admins (bootstrap and demotions) across replicas. */
export const ADMIN_LOCK = 0x61646d6e;

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    object: 'user',
    name: row.name,
    email: row.email,
    role: row.role,
    disabled: row.disabled,
    limits: limitsView(row),
    budget: budgetView(row),
    tools: toolList(row.tools),
    has_password: row.passwordHash !== null,
    created_at: unixSeconds(row.createdAt)!,
    updated_at: unixSeconds(row.updatedAt)!,
  };
}

/** The stored allow list (a JSON array of names), or null. */
export function toolList(value: unknown): string[] | null {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}
