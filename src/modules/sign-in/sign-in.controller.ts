import { Body, Controller, Get, HttpCode, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import type { Caller } from '../../common/http/caller.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { Public } from '../../common/http/route-access.js';
import { clearedSessionCookie, csrfTokenFrom, SESSION_COOKIE, sessionCookie, sessionTokenFrom } from './session-cookie.js';
import {
  changePasswordBody,
  loginBody,
  passwordChangedView,
  signedInView,
  signedOutView,
  type ChangePasswordBody,
  type LoginBody,
  type PasswordChangedView,
  type SignedInView,
  type SignedOutView,
} from './sign-in.schemas.js';
import { SignInService } from './sign-in.service.js';

const COOKIE_DOC =
  `Sets the \`${SESSION_COOKIE}\` cookie (HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS) that every route accepts as it accepts a bearer key. ` +
  'Cookie-authenticated requests other than GET, HEAD and OPTIONS must send the answer’s `csrf_token` as `x-csrf-token` (else 403 `csrf_token_invalid`). ' +
  'The session lasts SESSION_TTL_HOURS (12) from its last use.';

@ApiTags('Auth')
@Controller()
export class SignInController {
  constructor(private readonly signIn: SignInService) {}

  @Post('auth/login')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with a password or an API key',
    description:
      `${COOKIE_DOC} Every failure is the same 401 \`invalid_credentials\`; after 5 failures in a minute for one account or one client IP, ` +
      '429 `too_many_login_attempts` with retry-after. A disabled account gets 403 `account_disabled` (once the credentials are right).',
  })
  @ApiOk(signedInView)
  @ApiErrors(400, 403, 429)
  async login(
    @Body({ schema: loginBody }) body: LoginBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SignedInView> {
    const signedIn = await this.signIn.login(body, request.ip);
    reply.header('set-cookie', sessionCookie(signedIn.token, request.protocol === 'https'));
    reply.header('cache-control', 'no-store');
    return signedIn.view;
  }

  @Get('auth/session')
  @Public()
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'The signed-in session',
    description: 'The user and the CSRF token of the session cookie, for a page loaded after sign-in. 401 without a live session.',
  })
  @ApiOk(signedInView)
  @ApiErrors(403)
  async session(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SignedInView> {
    reply.header('cache-control', 'no-store');
    return this.signIn.current(sessionTokenFrom(request.headers.cookie) ?? '');
  }

  @Post('auth/logout')
  @Public()
  @HttpCode(200)
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'Sign out',
    description: 'Ends the session of the cookie on the server (the cookie no longer works anywhere) and clears it. Needs `x-csrf-token`.',
  })
  @ApiOk(signedOutView)
  @ApiErrors(403)
  async logout(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SignedOutView> {
    await this.signIn.logout(sessionTokenFrom(request.headers.cookie), csrfTokenFrom(request.headers));
    reply.header('set-cookie', clearedSessionCookie(request.protocol === 'https'));
    return { object: 'auth.session', signed_out: true };
  }

  @Patch('me/password')
  @ApiBearerAuth()
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'Change your password',
    description:
      '`current_password` is required once you have a password; without one yet (the first admin, signed in with its printed key) it may be left out. ' +
      'Ends your other sign-in sessions. A wrong current password is 401 `invalid_credentials`, throttled like sign-ins.',
  })
  @ApiOk(passwordChangedView)
  @ApiErrors(400, 403, 429)
  changePassword(
    @CurrentUser() caller: Caller,
    @Body({ schema: changePasswordBody }) body: ChangePasswordBody,
    @Req() request: FastifyRequest,
  ): Promise<PasswordChangedView> {
    return this.signIn.changePassword(caller, body, request.ip);
  }
}
